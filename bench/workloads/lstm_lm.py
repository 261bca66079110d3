"""W2 lstm-lm (Zaremba et al. 2014 "small"): Embedding(10000,200), 2-layer LSTM hidden 200 unrolled 20 steps,
batch 20, Linear(200,10000) decoder, CrossEntropy over all 20x20 positions, SGD lr 1.0, grad-norm clip 5,
hidden state carried between steps and detached (truncated BPTT)."""
import numpy as np

NAME = "W2 lstm-lm"
CFG = dict(vocab=10000, emb=200, hidden=200, layers=2, bptt=20, batch=20, init=0.1, lr=1.0, clip=5.0)


def make_batch(seed=0):
    rng = np.random.default_rng(seed)
    shape = (CFG["bptt"], CFG["batch"])  # (T, B): time-major, as the LSTM
    return {"x": rng.integers(0, CFG["vocab"], shape), "y": rng.integers(0, CFG["vocab"], shape)}


def make_model(lib):
    nn = lib.nn

    class LstmLM(nn.Module):
        def __init__(self, vocab, emb, hid, layers, init):
            super().__init__()
            self.emb = nn.Embedding(vocab, emb)
            self.rnn = nn.LSTM(emb, hid, layers)
            self.dec = nn.Linear(hid, vocab)
            for p in self.parameters():
                nn.init.uniform_(p, -init, init)

        def forward(self, x, state):  # x: (T, B)
            out, state = self.rnn(self.emb(x), state)
            return self.dec(out), state

    c = CFG
    return LstmLM(c["vocab"], c["emb"], c["hidden"], c["layers"], c["init"])


def make_step(lib, batch, state=None):
    c = CFG
    model = make_model(lib).train()
    if state is not None:
        model.load_state_dict(state)
    opt = lib.optim.SGD(model.parameters(), lr=c["lr"])
    x, y = lib.from_numpy(batch["x"]), lib.from_numpy(batch["y"])
    zeros = lib.zeros(c["layers"], c["batch"], c["hidden"])
    hidden = [(zeros, zeros)]

    def step():
        h = tuple(s.detach() for s in hidden[0])  # truncated BPTT
        opt.zero_grad(set_to_none=True)
        logits, hidden[0] = model(x, h)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, c["vocab"]), y.reshape(-1))
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), c["clip"])
        opt.step()
        return loss
    return step, model
