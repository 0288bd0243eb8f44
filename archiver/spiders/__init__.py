"""The spiders: `qq` crawls qq.com."""
