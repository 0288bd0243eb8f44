"""qq-archiver: archives qq.com news articles as Markdown files for a Hugo site."""
