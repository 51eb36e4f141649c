"""AWS access: clients from the standard credential chain, errors turned into one line, and
the SageMaker calls the status model needs."""
