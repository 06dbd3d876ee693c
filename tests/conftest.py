"""pytest's root conftest: its presence puts tests/ on sys.path, so test modules import the shared helpers
(`strategies`, `opcheck`) by name. Keep it free of fixtures that change behaviour."""
