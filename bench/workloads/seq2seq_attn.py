"""W3 seq2seq-attn (Luong-style): src/tgt vocab 8000, emb 256, 1-layer GRU encoder and decoder, hidden 256,
Luong "general" attention over the encoder states, src/tgt len 20, batch 32, teacher forcing, CrossEntropy
ignoring pad, Adam lr 1e-3, grad-norm clip 1.

No input feeding (as shared/bench/torch_reference.py), so the teacher-forced decoder GRU runs over the whole
target in one call; the encoder runs over the padded source and the decoder starts from the encoder state at
each sequence's last real position."""
import numpy as np

NAME = "W3 seq2seq-attn"
CFG = dict(src_vocab=8000, tgt_vocab=8000, emb=256, hidden=256, src_len=20, tgt_len=20, batch=32, pad=0, bos=1,
           lr=1e-3, clip=1.0)


def make_batch(seed=0):
    """Variable-length padded batch: lengths in [len/2, len], the first sequence full length."""
    c, rng = CFG, np.random.default_rng(seed)
    B, S, T, pad = c["batch"], c["src_len"], c["tgt_len"], c["pad"]
    src_len = rng.integers(S // 2, S + 1, B)
    tgt_len = rng.integers(T // 2, T + 1, B)
    src_len[0], tgt_len[0] = S, T
    src_mask = np.arange(S)[None] < src_len[:, None]
    tgt_mask = np.arange(T)[None] < tgt_len[:, None]
    src = np.where(src_mask, rng.integers(3, c["src_vocab"], (B, S)), pad)
    tgt_out = np.where(tgt_mask, rng.integers(3, c["tgt_vocab"], (B, T)), pad)
    tgt_in = np.concatenate([np.full((B, 1), c["bos"]), tgt_out[:, :-1]], axis=1)
    tgt_in = np.where(tgt_mask, tgt_in, pad)
    return {"src": src, "src_last": src_len - 1, "src_mask": src_mask, "tgt_in": tgt_in, "tgt_out": tgt_out}


def make_model(lib):
    nn = lib.nn

    class Seq2SeqAttn(nn.Module):
        """Luong et al. 2015 global attention, score h_t^T W_a h_s, attentional hidden tanh(W_c [c_t; h_t])."""

        def __init__(self, sv, tv, emb, hid, pad):
            super().__init__()
            self.src_emb = nn.Embedding(sv, emb, padding_idx=pad)
            self.tgt_emb = nn.Embedding(tv, emb, padding_idx=pad)
            self.enc = nn.GRU(emb, hid, 1, batch_first=True)
            self.dec = nn.GRU(emb, hid, 1, batch_first=True)
            self.W_a = nn.Linear(hid, hid, bias=False)
            self.W_c = nn.Linear(2 * hid, hid, bias=False)
            self.out = nn.Linear(hid, tv)

        def forward(self, src, src_last, tgt_in, src_mask):
            enc_out, _ = self.enc(self.src_emb(src))                        # (B, S, H)
            h0 = enc_out[lib.arange(src.shape[0]), src_last].unsqueeze(0)   # last real state
            dec_out, _ = self.dec(self.tgt_emb(tgt_in), h0)                 # (B, T, H)
            keys = self.W_a(enc_out)                                        # (B, S, H)
            scores = lib.bmm(dec_out, keys.transpose(1, 2))                 # (B, T, S)
            scores = scores.masked_fill(~src_mask.unsqueeze(1), float("-inf"))
            attn = lib.softmax(scores, dim=-1)
            ctx = lib.bmm(attn, enc_out)                                    # (B, T, H)
            h_tilde = lib.tanh(self.W_c(lib.cat([ctx, dec_out], dim=-1)))
            return self.out(h_tilde)                                        # (B, T, V)

    c = CFG
    return Seq2SeqAttn(c["src_vocab"], c["tgt_vocab"], c["emb"], c["hidden"], c["pad"])


def make_step(lib, batch, state=None):
    c = CFG
    model = make_model(lib).train()
    if state is not None:
        model.load_state_dict(state)
    opt = lib.optim.Adam(model.parameters(), lr=c["lr"])
    src, src_last, src_mask, tgt_in, tgt_out = (lib.from_numpy(batch[k]) for k in
                                                ("src", "src_last", "src_mask", "tgt_in", "tgt_out"))

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(src, src_last, tgt_in, src_mask)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, c["tgt_vocab"]), tgt_out.reshape(-1),
                                               ignore_index=c["pad"])
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), c["clip"])
        opt.step()
        return loss
    return step, model
