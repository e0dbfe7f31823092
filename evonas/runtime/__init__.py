"""Run directories, crash-safe writes, devices and executors."""
