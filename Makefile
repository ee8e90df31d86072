# The two commands a newcomer needs (see README.md).
.PHONY: demo test bench package check-package

# Start OpenBao on loopback, seed the example secrets, run `kvenv sync`, show .env, stop.
demo:
	scripts/demo

# Install the test tools into .build/ and run every test.
test:
	scripts/test

# The benchmark (not part of the tests): kvenv vs the curl + jq loop; writes bench/RESULTS.md.
bench:
	bench/run

# This machine's release archive, laid out as the release workflow publishes it, into
# target/package/ with SHA256SUMS (scripts/package; a release build).
package:
	scripts/package

# Unpack that archive and check it: binary, completions in their shells, man pages.
check-package:
	scripts/check-package
