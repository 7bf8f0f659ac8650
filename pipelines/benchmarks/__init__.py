"""The commands that measure the project and write BENCHMARKS.md; nothing imports them.
"""
