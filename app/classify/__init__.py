"""Classification: report text → subcategory, trained from the repository's corpus."""
