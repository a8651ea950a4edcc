"""Scaling out: the archive index job and the Ray engine for prepare and train.

Layering: scale sits beside service; it may import io, faces, data, recognition and training, and nothing
imports it but the CLI. Ray is optional (`pip install celebface[ray]`) and imported only inside functions.
"""
