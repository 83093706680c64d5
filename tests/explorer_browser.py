#!/usr/bin/env python3
"""The explorer in a real browser (Debian's headless chromium, driven by selenium through
/usr/bin/chromedriver, so nothing is downloaded): open it, search an address, see its
balance, chart and history, follow a transaction, look at "from A to B" and the stats page,
save a screenshot, and fail on any browser console error.

    python3 tests/explorer_browser.py [--binary B] [--screenshot PATH] [--blocks FILE | --db INDEX] [--address A --balance TEXT]
"""
import argparse, os, shutil, signal, subprocess, sys, tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SATOSHI, HAL = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"


def browser():
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100", "--disable-gpu"]:
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/blocksmith"))
    parser.add_argument("--blocks", default=os.path.join(ROOT, "Tests/Fixtures/Data/blocks/mainnet-000000-000589.blk"))
    parser.add_argument("--address", default=SATOSHI, help="the address to search (must have transactions)")
    parser.add_argument("--balance", default="18.00000000 BTC", help="the balance the page must show (empty: do not check)")
    parser.add_argument("--screenshot", default=os.path.join(ROOT, ".build/explorer.png"))
    parser.add_argument("--db", help="serve this index instead of indexing --blocks")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="explorer-")
    db = args.db or os.path.join(workdir, "index.sqlite")
    if not args.db:
        subprocess.run([args.binary, "index", args.blocks, "--db", db], check=True, capture_output=True)
    server = subprocess.Popen([args.binary, "serve", "--db", db, "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    base = server.stdout.readline().strip().split("listening on ")[1]
    driver = browser()
    wait = WebDriverWait(driver, 20)
    errors = []
    try:
        driver.get(base + "/")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "main table")))
        assert "Latest blocks" in driver.page_source
        # Search the address; its page shows the balance, a chart and the history.
        box = driver.find_element(By.ID, "q")
        box.send_keys(args.address)
        box.submit()
        wait.until(EC.presence_of_element_located((By.ID, "balance")))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tr")) > 1)
        assert driver.current_url.endswith("/address/" + args.address), driver.current_url
        balance = driver.find_element(By.ID, "balance").text
        assert not args.balance or balance == args.balance, balance
        assert driver.find_elements(By.CSS_SELECTOR, "#balance-chart path"), "no balance chart"
        rows = driver.find_elements(By.CSS_SELECTOR, "#history tr")
        print(f"address page: balance {balance}, {len(rows) - 1} history rows")
        driver.save_screenshot(args.screenshot)
        # Follow the newest transaction.
        rows[1].find_element(By.CSS_SELECTOR, "a").click()
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Transaction"))
        assert "/tx/" in driver.current_url
        assert "Inputs" in driver.page_source and "Outputs" in driver.page_source and "Fee" in driver.page_source
        # Reloading a page's own URL works.
        driver.get(driver.current_url)
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Transaction"))
        if args.address == SATOSHI:
            driver.get(f"{base}/between/{SATOSHI}/{HAL}")
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#transfers tr")) > 1)
            assert "10.00000000 BTC" in driver.find_element(By.ID, "transfers").text
            driver.get(f"{base}/block/170")
            wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Block 170"))
        driver.get(base + "/stats")
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Chain statistics"))
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    finally:
        driver.quit()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        shutil.rmtree(workdir, ignore_errors=True)
    if errors:
        sys.exit(f"browser console errors: {errors}")
    print(f"explorer: every page works in chromium, no console errors; screenshot {args.screenshot}")


if __name__ == "__main__":
    main()
