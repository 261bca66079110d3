"""W6 textcnn (Kim 2014): Embedding(20000,128), Conv1d widths 3,4,5 x 100 filters, ReLU, max-over-time,
dropout 0.5, Linear(300,2); batch 64, seq 50; CrossEntropy; Adam 1e-3."""
import numpy as np

NAME = "W6 textcnn"
CFG = dict(vocab=20000, emb=128, widths=(3, 4, 5), filters=100, classes=2, batch=64, seq=50, dropout=0.5,
           lr=1e-3)


def make_batch(seed=0):
    rng = np.random.default_rng(seed)
    c = CFG
    return {"x": rng.integers(0, c["vocab"], (c["batch"], c["seq"])),
            "y": rng.integers(0, c["classes"], (c["batch"],))}


def make_model(lib):
    nn, F = lib.nn, lib.nn.functional

    class TextCNN(nn.Module):
        def __init__(self, vocab, emb, widths, nf, ncls, p):
            super().__init__()
            self.emb = nn.Embedding(vocab, emb)
            self.convs = nn.ModuleList([nn.Conv1d(emb, nf, w) for w in widths])
            self.drop = nn.Dropout(p)
            self.fc = nn.Linear(nf * len(widths), ncls)

        def forward(self, x):
            e = self.emb(x).transpose(1, 2)                   # (B, E, S)
            h = [F.relu(conv(e)).amax(dim=2) for conv in self.convs]
            return self.fc(self.drop(lib.cat(h, dim=1)))

    c = CFG
    return TextCNN(c["vocab"], c["emb"], c["widths"], c["filters"], c["classes"], c["dropout"])


def make_step(lib, batch, state=None):
    model = make_model(lib).train()
    if state is not None:
        model.load_state_dict(state)
    opt = lib.optim.Adam(model.parameters(), lr=CFG["lr"])
    x, y = lib.from_numpy(batch["x"]), lib.from_numpy(batch["y"])

    def step():
        opt.zero_grad(set_to_none=True)
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step, model
