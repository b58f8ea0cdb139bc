"""`oci-runtime check`: will this bundle run, on this host?  findings.py is the result type;
bundle.py checks a bundle, host.py the machine."""
