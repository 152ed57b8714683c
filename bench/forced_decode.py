"""Forced (teacher-forced) decoding of each prompt's real answer, for timing generation at its real length.

Same work per step as `SpeederModel.generate`'s greedy loop (one cached prompt pass, then one cached single-token
decoder step per further answer token, LM head + argmax on each step), but the tokens fed back are the TRUE answer
tokens, so every method decodes exactly its real answer: Speeder its letter + end of text (2 tokens), the title
styles the target's title tokens + end of text. Uses only stable public pieces of SpeederModel.
"""
import inspect, time

import torch


def answer_tokens(prompts):
    "(B, L) the prompts' answers, right-padded with end of text (as `generate` feeds rows that have finished), and their lengths."
    n = [len(p.answer) for p in prompts]
    if min(n) < 1: raise ValueError('forced decoding needs labelled prompts: build them with m.prompts.rec(history, candidates, label).')
    L, pad = max(n), prompts[0].answer[-1]   # every answer ends with end of text
    return torch.tensor([p.answer + [pad] * (L - len(p.answer)) for p in prompts]), torch.tensor(n)


@torch.no_grad()
def forced_decode(m, batch, answers, check: bool = False) -> dict:
    """Prompt pass (predicts answer token 1) + max(L) - 1 single-token steps for the whole batch (step k feeds answer token k
    and predicts token k+1); rows whose answer is shorter feed end of text, as batched greedy generation keeps computing them
    until every row has finished. Returns the two timings (seconds, whole batch) and the step count; with `check`, also the
    argmaxes and the logits of each position (to compare with one uncached forward pass)."""
    batch = batch.to(m.device); answers = answers.to(m.device)
    sync = torch.cuda.synchronize if m.device.type == 'cuda' else (lambda: None)   # GPU work is asynchronous: wait for it before reading a clock
    dec = m.llm.get_base_model().get_decoder()
    kv = 'cache' if 'cache' in inspect.signature(dec.forward).parameters else 'past_key_values'   # transformers >= 5.24 renamed it
    sync(); t0 = time.perf_counter()
    o = dec(inputs_embeds=m.inputs_embeds(batch), attention_mask=batch.attention_mask, position_ids=batch.position_ids, use_cache=True)
    logits = m._head(o.last_hidden_state[:, -1]); pred = [logits.argmax(-1)]   # left padding: the last position is the answer position
    seen = [logits] if check else None
    sync(); t1 = time.perf_counter()
    past, att, pos = o[kv], batch.attention_mask, batch.position_ids[:, -1:]
    for k in range(answers.shape[1] - 1):
        att = torch.cat([att, torch.ones_like(att[:, :1])], 1); pos = pos + 1
        o = dec(input_ids=answers[:, k:k + 1], attention_mask=att, position_ids=pos, use_cache=True, **{kv: past})
        past = o[kv]
        logits = m._head(o.last_hidden_state[:, -1]); pred.append(logits.argmax(-1))
        if check: seen.append(logits)
    sync(); t2 = time.perf_counter()
    out = dict(prompt_s=t1 - t0, decode_s=t2 - t1, steps=answers.shape[1] - 1)
    if check: out.update(pred=torch.stack(pred, 1), logits=torch.stack(seen, 1))
    return out
