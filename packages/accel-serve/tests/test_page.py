"""The page at `/` in a real headless Chromium (Debian's chromium + chromium-driver, through
selenium): upload a PNG and see the predictions the API gives, build and send a JSON tensor,
and save a screenshot (its path is printed; it lies under pytest's tmp dir)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from serve_helpers import Server, png, start_server

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def page_server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The digits model without a token (a browser's address bar sends no bearer header)."""
    running = start_server([str(model_dir / "digits")], tmp_path_factory.mktemp("page") / "log")
    yield running
    running.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no headless browser: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium fetch a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver: Any, css: str, text: str | None = None, value: str | None = None) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 20)
    if text is not None:
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
    if value is not None:  # a textarea's current value, not its initial text
        wait.until(ec.text_to_be_present_in_element_value((By.CSS_SELECTOR, css), value))
    return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def test_the_page_predicts_an_upload_and_sends_a_tensor(
    page_server: Server, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    digit = np.zeros((8, 8), np.uint8)
    digit[1:7, 3:5] = 255  # a "1"
    upload = tmp_path / "digit.png"
    upload.write_bytes(png(digit))
    api = httpx.post(f"{page_server.url}/predict?top_k=3", files={"image": upload.read_bytes()})
    expected = [p["label"] for p in api.json()["predictions"]]

    browser.get(page_server.url + "/")
    wait_for(browser, "#status", "ready")
    browser.find_element(By.ID, "image").send_keys(str(upload))
    browser.find_element(By.ID, "topk").clear()
    browser.find_element(By.ID, "topk").send_keys("3")
    browser.find_element(By.ID, "predict").click()
    table = wait_for(browser, "#predictions")
    labels = [row.find_elements(By.TAG_NAME, "td")[0].text
              for row in table.find_elements(By.TAG_NAME, "tr")[1:]]  # fmt: skip
    assert labels == expected
    assert "latency" in browser.find_element(By.ID, "latency").text
    shot = tmp_path / "page-predict.png"
    assert browser.save_screenshot(str(shot))

    browser.find_element(By.ID, "example").click()
    wait_for(browser, "#tensor", value='"shape":[1,1,8,8]')
    browser.find_element(By.ID, "infer").click()
    (output,) = json.loads(wait_for(browser, "#outputs").text)
    assert output["shape"] == [1, 10]
    assert len(output["data"]) == 10
    print(f"screenshot: {shot}")
    image = np.asarray(Image.open(shot).convert("L"))
    assert min(image.shape) > 300
    assert image.std() > 5  # text and a table were drawn, not a blank page
