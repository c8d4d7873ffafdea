"""Browser tests: the site in Debian's headless chromium, driven by Playwright."""
