"""Report: findings -> gcc-style text, JSON, SARIF 2.1.0 (sarif-om)."""
