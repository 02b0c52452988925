"""Real-browser tests: the course run in JupyterLab, driven through headless chromium."""
