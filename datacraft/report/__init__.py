"""What users look at after a run: merged stats, the HTML report, dropped-document inspection, explain."""
