"""W4 transformer (small enc-dec): d_model 256, 4 heads, ffn 1024, 3 encoder + 3 decoder layers, pre-LN
(norm_first) with final LayerNorms, dropout 0.1, shared vocab 8000 (embedding tied to the output projection),
src/tgt len 32, batch 32, causal mask in the decoder, label smoothing 0.1, Adam(0.9, 0.98, eps 1e-9) with the
inverse-sqrt ("Noam") schedule, 4000 warm-up steps."""
import math

import numpy as np

NAME = "W4 transformer"
CFG = dict(vocab=8000, d_model=256, heads=4, ffn=1024, enc_layers=3, dec_layers=3, dropout=0.1, src_len=32,
           tgt_len=32, batch=32, pad=0, warmup=4000, label_smoothing=0.1)


def make_batch(seed=0):
    c, rng = CFG, np.random.default_rng(seed)
    tgt = rng.integers(3, c["vocab"], (c["batch"], c["tgt_len"] + 1))
    return {"src": rng.integers(3, c["vocab"], (c["batch"], c["src_len"])),
            "tgt_in": np.ascontiguousarray(tgt[:, :-1]), "tgt_out": np.ascontiguousarray(tgt[:, 1:])}


def sinusoid_table(max_len, d):
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    div = np.exp(np.arange(0, d, 2, dtype=np.float64) * (-math.log(10000.0) / d))
    pe = np.zeros((max_len, d), np.float32)
    pe[:, 0::2] = np.sin(pos * div)
    pe[:, 1::2] = np.cos(pos * div)
    return pe


def make_model(lib):
    nn, F = lib.nn, lib.nn.functional

    class PosEnc(nn.Module):
        def __init__(self, d, max_len=512):
            super().__init__()
            self.register_buffer("pe", lib.from_numpy(sinusoid_table(max_len, d)))

        def forward(self, x):  # (B, L, d)
            return x + self.pe[: x.shape[1]]

    class TransformerMT(nn.Module):
        def __init__(self, vocab, d, heads, ffn, n_enc, n_dec, p, pad):
            super().__init__()
            self.d = d
            self.emb = nn.Embedding(vocab, d, padding_idx=pad)
            nn.init.normal_(self.emb.weight, 0, d ** -0.5)
            self.pos = PosEnc(d)
            self.drop = nn.Dropout(p)
            el = nn.TransformerEncoderLayer(d, heads, ffn, p, batch_first=True, norm_first=True)
            dl = nn.TransformerDecoderLayer(d, heads, ffn, p, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(el, n_enc, norm=nn.LayerNorm(d), enable_nested_tensor=False)
            self.decoder = nn.TransformerDecoder(dl, n_dec, norm=nn.LayerNorm(d))
            self.out_bias = nn.Parameter(lib.zeros(vocab))

        def embed(self, x):
            return self.drop(self.pos(self.emb(x) * self.d ** 0.5))

        def forward(self, src, tgt_in, tgt_causal):
            mem = self.encoder(self.embed(src))
            h = self.decoder(self.embed(tgt_in), mem, tgt_mask=tgt_causal, tgt_is_causal=True)
            return F.linear(h, self.emb.weight, self.out_bias)

    c = CFG
    return TransformerMT(c["vocab"], c["d_model"], c["heads"], c["ffn"], c["enc_layers"], c["dec_layers"],
                         c["dropout"], c["pad"])


def noam(d_model, warmup):
    return lambda s: d_model ** -0.5 * min((s + 1) ** -0.5, (s + 1) * warmup ** -1.5)


def make_step(lib, batch, state=None):
    c = CFG
    model = make_model(lib).train()
    if state is not None:
        model.load_state_dict(state)
    opt = lib.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    sched = lib.optim.lr_scheduler.LambdaLR(opt, noam(c["d_model"], c["warmup"]))
    src, tgt_in, tgt_out = (lib.from_numpy(batch[k]) for k in ("src", "tgt_in", "tgt_out"))
    causal = lib.nn.Transformer.generate_square_subsequent_mask(c["tgt_len"])

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(src, tgt_in, causal)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, c["vocab"]), tgt_out.reshape(-1),
                                               ignore_index=c["pad"], label_smoothing=c["label_smoothing"])
        loss.backward()
        opt.step()
        sched.step()
        return loss
    return step, model
