"""History from kube-apiserver audit logs: reading them (`files`), deciding what each entry
tells about an object (`entries`), and importing them into a recording (`importer`, `join`)."""
