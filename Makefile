# The two commands a newcomer needs (see README.md).
.PHONY: demo test bench

# Start OpenBao on loopback, seed the example secrets, run `kvenv sync`, show .env, stop.
demo:
	scripts/demo

# Install the test tools into .build/ and run every test.
test:
	scripts/test

# The benchmark (not part of the tests): kvenv vs the curl + jq loop; writes bench/RESULTS.md.
bench:
	bench/run
