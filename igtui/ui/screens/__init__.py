"""One screen per module, each with its .tcss beside it (rules rooted at the screen type)."""
