print("events-server: not wired yet")
