# make        builds the release binary .build/release/blocksmith
# make test   runs every test suite
# make bench  runs the benchmark (see README, "Speed")
# make fuzz   runs the decoder fuzzer for FUZZ_SECONDS (default 60)
# make e2e    serve end to end with curl, the explorer in headless chromium, several chain nodes,
#             the export against a reference and Spark
FUZZ_SECONDS ?= 60

.PHONY: all test bench fuzz e2e clean
all:
	swift build -c release --product blocksmith

# The release binary first: the parse.sh test runs it (building it from inside `swift test`
# would wait on the build folder's lock).
test: all
	swift test

bench: all
	bash bench/run.sh

e2e: all
	python3 tests/serve_e2e.py
	python3 tests/explorer_browser.py
	python3 tests/chain_nodes.py
	python3 tests/export_e2e.py

fuzz:
	bash Fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build .build-fuzz
