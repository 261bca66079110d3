"""Registry entries: the recurrent layer and cell ops, and the bx.nn recurrent layers.

The NumPy references run the recurrences step by step in float64 (one loop over time, masks for
variable lengths), independent of backpropx.
"""
import numpy as np

import backpropx as bx

from .core import LayerInfo, OpInfo, Sample

# ---- NumPy references ------------------------------------------------------------------------------


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def np_layer(kind, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """One layer, one direction. x [T, B, I] -> out [T, B, H], h_n [B, H] (, c_n)."""
    x = np.asarray(x, dtype=np.float64)
    w_ih, w_hh = np.asarray(w_ih, np.float64), np.asarray(w_hh, np.float64)
    T, B = x.shape[0], x.shape[1]
    G, H = w_hh.shape[0], w_hh.shape[1]
    b_ih = np.zeros(G) if b_ih is None else np.asarray(b_ih, np.float64)
    b_hh = np.zeros(G) if b_hh is None else np.asarray(b_hh, np.float64)
    h = np.zeros((B, H)) if h0 is None else np.array(h0, dtype=np.float64)
    c = np.zeros((B, H)) if c0 is None else np.array(c0, dtype=np.float64)
    lens = np.full(B, T) if lengths is None else np.asarray(lengths)
    out = np.zeros((T, B, H))
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        active = (t < lens)[:, None]
        gi = x[t] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        c_new = c
        if kind == "lstm":
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h_new = _sigmoid(o) * np.tanh(c_new)
        elif kind == "gru":
            r = _sigmoid(gi[:, :H] + gh[:, :H])
            z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            h_new = (1 - z) * n + z * h
        elif kind == "tanh":
            h_new = np.tanh(gi + gh)
        else:
            h_new = np.maximum(gi + gh, 0.0)
        out[t] = np.where(active, h_new, 0.0)
        h = np.where(active, h_new, h)
        c = np.where(active, c_new, c)
    return (out, h, c) if kind == "lstm" else (out, h)


def np_network(kind, params, x, hx=None, num_layers=1, bidirectional=False, batch_first=False, lengths=None):
    """A whole bx.nn.RNN / LSTM / GRU from its state_dict. Returns (output, h_n) or (output, h_n, c_n)."""
    x = np.asarray(x, dtype=np.float64)
    unbatched = x.ndim == 2
    if unbatched:
        x = x[:, None]
    elif batch_first:
        x = x.transpose(1, 0, 2)
    D = 2 if bidirectional else 1
    h0 = c0 = None
    if hx is not None:
        h0, c0 = hx if kind == "lstm" else (hx, None)
        if unbatched:
            h0 = h0[:, None]
            c0 = None if c0 is None else c0[:, None]
    layer_input, hs, cs = x, [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            k, sfx = layer * D + d, f"_l{layer}" + ("_reverse" if d else "")
            res = np_layer(kind, layer_input, None if h0 is None else h0[k], None if c0 is None else c0[k],
                           params["weight_ih" + sfx], params["weight_hh" + sfx], params.get("bias_ih" + sfx),
                           params.get("bias_hh" + sfx), lengths, reverse=bool(d))
            outs.append(res[0])
            hs.append(res[1])
            if kind == "lstm":
                cs.append(res[2])
        layer_input = np.concatenate(outs, axis=2)
    out, h_n = layer_input, np.stack(hs)
    c_n = np.stack(cs) if kind == "lstm" else None
    if unbatched:
        out, h_n = out[:, 0], h_n[:, 0]
        c_n = None if c_n is None else c_n[:, 0]
    elif batch_first:
        out = out.transpose(1, 0, 2)
    return (out, h_n, c_n) if kind == "lstm" else (out, h_n)


def np_cell(kind, x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    res = np_layer(kind, np.asarray(x)[None], h, c, w_ih, w_hh, b_ih, b_hh)
    return (res[1], res[2]) if kind == "lstm" else res[1]


# ---- op samples -------------------------------------------------------------------------------------


def _weights(rng, G, I, H, bias=True):
    w = [rng.uniform(-0.6, 0.6, (G * H, I)), rng.uniform(-0.6, 0.6, (G * H, H))]
    return w + ([rng.uniform(-0.5, 0.5, G * H), rng.uniform(-0.5, 0.5, G * H)] if bias else [None, None])


def _layer_samples(G, lstm):
    def samples(rng):
        T, B, I, H = 12, 3, 4, 3
        out = []
        for desc, bias, init, lengths, reverse in [
            ("initial states", True, True, None, False),
            ("initial states, reverse", True, True, None, True),
            ("unequal unsorted lengths, reverse", True, True, [12, 7, 9], True),
            ("sorted lengths, zero state, no bias", False, False, [12, 9, 5], False),
        ]:
            x = rng.standard_normal((T, B, I))
            states = [rng.standard_normal((B, H)) * 0.5 if init else None for _ in range(2 if lstm else 1)]
            kwargs = {"reverse": reverse}
            if lengths is not None:
                kwargs["lengths"] = lengths
            out.append(Sample(x, *states, *_weights(rng, G, I, H, bias), kwargs=kwargs, desc=desc))
        T, B = 13, 2  # a batch of 2 whose second sequence has length 1
        states = [rng.standard_normal((B, H)) for _ in range(2 if lstm else 1)]
        out.append(Sample(rng.standard_normal((T, B, I)), *states, *_weights(rng, G, I, H),
                          kwargs={"lengths": np.array([13, 1]), "reverse": True},
                          desc="int64 lengths with a length-1 sequence"))
        return out
    return samples


def _layer_ref(kind):
    if kind == "lstm":
        return lambda x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False: np_layer(
            kind, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
    return lambda x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False: np_layer(
        kind, x, h0, None, w_ih, w_hh, b_ih, b_hh, lengths, reverse)


def _mostly_on(samples):
    """relu samples with b_ih shifted up, so most units are on (the samples exercise the relu path, not only zeros)."""
    def shifted(rng):
        out = samples(rng)
        for s in out:
            args = list(s.args)
            if args[4] is not None:
                args[4] = args[4] + 0.3  # b_ih: most units stay on, far from 0
            s.args = tuple(args)
        return out
    return shifted


def _cell_samples(G, lstm):
    def samples(rng):
        B, I, H = 3, 4, 5
        out = []
        for bias in (True, False):
            x = rng.standard_normal((B, I))
            hx = [rng.standard_normal((B, H)) * 0.5 for _ in range(2)] if lstm else rng.standard_normal((B, H)) * 0.5
            out.append(Sample(x, hx, *_weights(rng, G, I, H, bias), desc="bias" if bias else "no bias"))
        return out
    return samples


OPS = [
    OpInfo("lstm_layer", op=bx.lstm_layer, ref=_layer_ref("lstm"), samples=_layer_samples(4, True)),
    OpInfo("gru_layer", op=bx.gru_layer, ref=_layer_ref("gru"), samples=_layer_samples(3, False)),
    OpInfo("rnn_tanh_layer", op=bx.rnn_tanh_layer, ref=_layer_ref("tanh"), samples=_layer_samples(1, False)),
    OpInfo("rnn_relu_layer", op=bx.rnn_relu_layer, ref=_layer_ref("relu"),
           samples=_mostly_on(_layer_samples(1, False))),
    OpInfo("lstm_cell", op=bx.lstm_cell,
           ref=lambda x, hx, w_ih, w_hh, b_ih=None, b_hh=None: np_cell("lstm", x, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh),
           samples=_cell_samples(4, True)),
    OpInfo("gru_cell", op=bx.gru_cell,
           ref=lambda x, h, w_ih, w_hh, b_ih=None, b_hh=None: np_cell("gru", x, h, None, w_ih, w_hh, b_ih, b_hh),
           samples=_cell_samples(3, False)),
    OpInfo("rnn_tanh_cell", op=bx.rnn_tanh_cell,
           ref=lambda x, h, w_ih, w_hh, b_ih=None, b_hh=None: np_cell("tanh", x, h, None, w_ih, w_hh, b_ih, b_hh),
           samples=_cell_samples(1, False)),
    OpInfo("rnn_relu_cell", op=bx.rnn_relu_cell,
           ref=lambda x, h, w_ih, w_hh, b_ih=None, b_hh=None: np_cell("relu", x, h, None, w_ih, w_hh, b_ih, b_hh),
           samples=_mostly_on(_cell_samples(1, False))),
]

# ---- layers -----------------------------------------------------------------------------------------


def _net_ref(kind, **config):
    return lambda p, x, hx=None, lengths=None: np_network(kind, p, x, hx, lengths=lengths, **config)


LAYERS = [
    LayerInfo("LSTM", make=lambda: bx.nn.LSTM(4, 5),
              inputs=lambda rng: (rng.standard_normal((12, 3, 4)),), ref=_net_ref("lstm")),
    LayerInfo("LSTM-2layer-bidirectional-hx", make=lambda: bx.nn.LSTM(3, 4, num_layers=2, bidirectional=True),
              inputs=lambda rng: (rng.standard_normal((12, 2, 3)),
                                  (rng.standard_normal((4, 2, 4)) * 0.5, rng.standard_normal((4, 2, 4)) * 0.5)),
              ref=_net_ref("lstm", num_layers=2, bidirectional=True)),
    LayerInfo("GRU-batch_first", make=lambda: bx.nn.GRU(4, 5, batch_first=True),
              inputs=lambda rng: (rng.standard_normal((3, 12, 4)),), ref=_net_ref("gru", batch_first=True)),
    LayerInfo("GRU-bidirectional-lengths", make=lambda: bx.nn.GRU(3, 4, bidirectional=True),
              inputs=lambda rng: (rng.standard_normal((12, 3, 3)), rng.standard_normal((2, 3, 4)) * 0.5),
              kwargs={"lengths": [9, 12, 4]}, ref=_net_ref("gru", bidirectional=True)),
    LayerInfo("GRU-3layer-bidirectional-batch_first-h0",
              make=lambda: bx.nn.GRU(3, 4, num_layers=3, bidirectional=True, batch_first=True),
              inputs=lambda rng: (rng.standard_normal((2, 12, 3)), rng.standard_normal((6, 2, 4)) * 0.5),
              ref=_net_ref("gru", num_layers=3, bidirectional=True, batch_first=True)),
    LayerInfo("RNN-tanh-2layer", make=lambda: bx.nn.RNN(4, 5, num_layers=2),
              inputs=lambda rng: (rng.standard_normal((12, 3, 4)), rng.standard_normal((2, 3, 5)) * 0.5),
              ref=_net_ref("tanh", num_layers=2)),
    LayerInfo("RNN-relu", make=lambda: bx.nn.RNN(4, 5, nonlinearity="relu"),
              inputs=lambda rng: (rng.standard_normal((12, 3, 4)),), ref=_net_ref("relu")),
    LayerInfo("RNNCell", make=lambda: bx.nn.RNNCell(4, 5),
              inputs=lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((3, 5))),
              ref=lambda p, x, h: np_cell("tanh", x, h, None, p["weight_ih"], p["weight_hh"], p["bias_ih"],
                                          p["bias_hh"])),
    LayerInfo("LSTMCell", make=lambda: bx.nn.LSTMCell(4, 5),
              inputs=lambda rng: (rng.standard_normal((3, 4)),
                                  (rng.standard_normal((3, 5)), rng.standard_normal((3, 5)))),
              ref=lambda p, x, hx: np_cell("lstm", x, hx[0], hx[1], p["weight_ih"], p["weight_hh"], p["bias_ih"],
                                           p["bias_hh"])),
    LayerInfo("GRUCell", make=lambda: bx.nn.GRUCell(4, 5),
              inputs=lambda rng: (rng.standard_normal((3, 4)),), ref=lambda p, x: np_cell(
                  "gru", x, None, None, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])),
]
