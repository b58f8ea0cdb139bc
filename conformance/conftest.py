def pytest_configure(config):
    config.addinivalue_line("markers", "clause(spec_file, section, requirement): spec clause")
