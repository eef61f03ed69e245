"""bf16 on a CPU: chosen where the CPU has bf16 instructions, as accurate as autocast's own
head, and a run that learns as well as fp32 on the same seed."""

import pytest
import torch

from jobs.engine import cpu_features, fused_loss, loop
from jobs.engine.callbacks import Callbacks
from jobs.engine.modelling import build_model
from jobs.engine.tokenizer import gpt2_tokenizer
from tests.jobs.engine.test_engine import config, text_examples
from tests.jobs.engine.test_fused_loss import batch, gradients


class Started(Callbacks):
    info = None

    def on_start(self, info):
        self.info = info


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("fpu sse avx512f avx512_bf16 avx512_vnni", True),
        ("fpu sse avx512f amx_bf16 amx_tile", True),
        ("fpu sse avx2 avx512f avx512_vnni", False),
    ],
)
def test_bf16_instructions_are_read_from_cpuinfo(tmp_path, monkeypatch, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\n")
    monkeypatch.delenv("CPU_BF16", raising=False)
    assert cpu_features._cpuinfo_has_bf16(str(cpuinfo)) is expected
    assert cpu_features._cpuinfo_has_bf16(str(tmp_path / "missing")) is False


@pytest.mark.parametrize("setting, precision", [("1", "bfloat16"), ("0", "float32")])
def test_auto_precision_on_a_cpu_follows_its_bf16_instructions(
    tmp_path, monkeypatch, setting, precision
):
    monkeypatch.setenv("CPU_BF16", setting)
    started = Started()
    result = loop.train(config(tmp_path, epochs=1), text_examples(40), callbacks=started)
    assert started.info["precision"] == precision
    assert started.info["fused_loss"] is True  # the chunked head in either precision
    assert result.step == result.total_steps


@pytest.mark.parametrize("method", ["full", "lora"])
def test_the_bf16_head_is_as_close_to_fp32_as_autocast_itself(tmp_path, method):
    torch.manual_seed(0)
    cfg = config(tmp_path, method=method, lora_r=4, lora_alpha=8)
    model = build_model(cfg, gpt2_tokenizer(), None)
    model.eval()
    ids, labels, mask = batch()

    def run(fused, amp):
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            if fused:
                loss, _ = fused_loss.loss_and_hits(model, ids, mask, labels)
            else:
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        return loss.item(), gradients(model)

    exact_loss, exact = run(fused=False, amp=False)
    autocast_loss, autocast = run(fused=False, amp=True)
    ours_loss, ours = run(fused=True, amp=True)

    assert ours_loss == pytest.approx(exact_loss, rel=1e-3)
    assert ours_loss != exact_loss  # the head did run in bf16
    assert abs(ours_loss - exact_loss) <= 2 * abs(autocast_loss - exact_loss) + 1e-5
    for name, grad in exact.items():
        scale = grad.abs().max().item() or 1.0
        autocast_error = (autocast[name] - grad).abs().max().item() / scale
        our_error = (ours[name] - grad).abs().max().item() / scale
        assert our_error <= max(2 * autocast_error, 1e-3), name
        assert our_error < 0.05, name  # bf16 keeps about 3 significant digits


def test_a_bf16_cpu_run_learns_as_well_as_fp32_on_the_same_seed(tmp_path):
    losses = {}
    for precision in ("fp32", "bf16"):
        cfg = config(tmp_path / precision, precision=precision, epochs=2)
        losses[precision] = loop.train(cfg, text_examples(300)).eval_loss
    assert losses["fp32"] < 4.0  # it learned (from ~10.8), so the comparison means something
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.03)
