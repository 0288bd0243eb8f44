"""A small fake qq.com (fixture site) and the local HTTP server that serves it."""
