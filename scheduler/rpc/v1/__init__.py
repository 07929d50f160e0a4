"""Generated from protos/ by protos/generate.py (make proto). Do not edit."""
