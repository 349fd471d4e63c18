"""One module per dashboard section, rendered in DESIGN §8's order by app.py."""
