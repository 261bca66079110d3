"""W1 bow-classifier: Embedding(20000,128) -> mean over seq -> Linear(128,64) -> ReLU -> Dropout(0.5) ->
Linear(64,2); batch 64, seq 50; CrossEntropy; Adam lr 1e-3."""
import numpy as np

NAME = "W1 bow-classifier"
CFG = dict(vocab=20000, emb=128, hidden=64, classes=2, batch=64, seq=50, dropout=0.5, lr=1e-3)


def make_batch(seed=0):
    rng = np.random.default_rng(seed)
    c = CFG
    return {"x": rng.integers(0, c["vocab"], (c["batch"], c["seq"])),
            "y": rng.integers(0, c["classes"], (c["batch"],))}


def make_model(lib):
    nn, F = lib.nn, lib.nn.functional

    class BowClassifier(nn.Module):
        def __init__(self, vocab, emb, hid, ncls, p):
            super().__init__()
            self.emb = nn.Embedding(vocab, emb)
            self.fc1 = nn.Linear(emb, hid)
            self.drop = nn.Dropout(p)
            self.fc2 = nn.Linear(hid, ncls)

        def forward(self, x):
            h = self.emb(x).mean(dim=1)
            return self.fc2(self.drop(F.relu(self.fc1(h))))

    c = CFG
    return BowClassifier(c["vocab"], c["emb"], c["hidden"], c["classes"], c["dropout"])


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
