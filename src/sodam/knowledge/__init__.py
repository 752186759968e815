"""Knowledge base: categories, articles, alternate questions, the public help center and its search."""
