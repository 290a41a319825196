"""Synthetic demo data: demo accounts and fictional people, for development, demos and benchmarks."""

from app.demo.generator import DEMO_USERS, SeedResult, ensure_demo_users, seed_demo

__all__ = ["DEMO_USERS", "SeedResult", "ensure_demo_users", "seed_demo"]
