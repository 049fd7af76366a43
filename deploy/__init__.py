"""Running several app replicas behind nginx (docs/deploy.md): the proxy's configuration."""
