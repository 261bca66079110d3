"""bx.models: every model trains on a tiny sample (its loss falls); decoding agrees with itself."""
import numpy as np
import pytest

import backpropx as bx
import backpropx.nn.functional as F
from backpropx.data import pad_sequences
from backpropx.models import (BowClassifier, RNNLanguageModel, Seq2Seq, SimpleNLPNetwork, SimpleTranslationModel,
                              TextCNN, TransformerTranslator, batchify, beam_search, bptt_chunks, detach_state,
                              greedy_decode, perplexity)
from backpropx.models.decoding import greedy_decode_batch


def _train(model, loss_fn, steps=60, lr=1e-2):
    opt = bx.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_simple_feedforward_models_learn():
    bx.manual_seed(0)
    bags = (bx.rand(8, 20) > 0.7).to(bx.float32)
    labels = bx.tensor([0, 1] * 4)
    net = SimpleNLPNetwork(20, 16, 2)
    losses = _train(net, lambda: F.cross_entropy(net(bags), labels))
    assert losses[-1] < 0.2 * losses[0]
    tr = SimpleTranslationModel(20, 12, max_len=4, hidden_size=16)
    targets = bx.randint(0, 12, (8, 4))
    assert tr(bags).shape == (8, 4, 12)
    losses = _train(tr, lambda: F.cross_entropy(tr(bags).reshape(-1, 12), targets.reshape(-1)))
    assert losses[-1] < 0.2 * losses[0]


@pytest.mark.parametrize("kind", ["bow", "cnn"])
def test_classifiers_learn_and_ignore_padding(kind):
    bx.manual_seed(0)
    ids = bx.tensor([[4, 5, 6, 0, 0], [7, 8, 0, 0, 0], [4, 6, 0, 0, 0], [7, 9, 8, 0, 0]])
    y = bx.tensor([0, 1, 0, 1])
    model = BowClassifier(10, 2, dropout=0.0) if kind == "bow" else TextCNN(10, 2, 16, num_filters=8, dropout=0.0)
    losses = _train(model, lambda: F.cross_entropy(model(ids), y))
    assert losses[-1] < 0.1 * losses[0]
    model.eval()
    with bx.no_grad():
        if kind == "bow":  # the mean ignores <pad>: more padding, same scores
            longer = bx.cat([ids, bx.zeros((4, 3), dtype=bx.int64)], 1)
            np.testing.assert_allclose(model(ids).numpy(), model(longer).numpy(), rtol=1e-5, atol=1e-6)
        assert model(bx.tensor([[4]])).shape == (1, 2)  # shorter than the widest CNN filter


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_language_model_learns_with_truncated_bptt(cell):
    bx.manual_seed(0)
    text = np.array([4, 5, 6, 7, 8] * 60)
    stream = batchify(text, 4)
    model = RNNLanguageModel(10, 16, 24, num_layers=2, cell=cell, tie_weights=False)
    before = perplexity(model, stream, bptt=10)
    opt = bx.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(12):
        state = None
        for x, y in bptt_chunks(stream, 10):
            loss, state = model.loss(x, y, state)
            state = detach_state(state)
            opt.zero_grad()
            loss.backward()
            opt.step()
    after = perplexity(model, stream, bptt=10)
    assert after < 1.5 < before


def test_truncated_bptt_sends_no_gradient_to_earlier_chunks():
    bx.manual_seed(0)
    model = RNNLanguageModel(10, 8, 8, num_layers=1)
    emb = model.embedding(bx.randint(0, 10, (2, 12))).detach().requires_grad_(True)
    _, state = model.rnn(emb[:, :6])
    out, _ = model.rnn(emb[:, 6:], detach_state(state))
    out.sum().backward()
    g = emb.grad.numpy()
    assert np.all(g[:, :6] == 0) and np.abs(g[:, 6:]).sum() > 0
    emb.grad = None
    _, state = model.rnn(emb[:, :6])
    out, _ = model.rnn(emb[:, 6:], state)  # not detached: the gradient reaches back
    out.sum().backward()
    assert np.abs(emb.grad.numpy()[:, :6]).sum() > 0


def test_tied_weights_share_one_matrix():
    model = RNNLanguageModel(30, 16, 16, tie_weights=True)
    assert model.out.weight is model.embedding.weight
    assert len(list(model.parameters())) == len(set(id(p) for p in model.parameters()))
    with pytest.raises(ValueError, match="tie_weights"):
        RNNLanguageModel(30, 8, 16, tie_weights=True)


def _reversal_batch(rng, n=16, V=12):
    src = [list(rng.integers(4, V, rng.integers(3, 6))) for _ in range(n)]
    s, s_len = pad_sequences(src)
    t, _ = pad_sequences([[2] + x[::-1] + [3] for x in src])
    return src, bx.from_numpy(s), s_len, bx.from_numpy(t)


TRANSLATORS = [("seq2seq", dict(cell="gru", attention="bahdanau")), ("seq2seq", dict(cell="lstm", attention="dot")),
               ("seq2seq", dict(cell="gru", attention="general", bidirectional=False)), ("transformer", {})]


def _translator(kind, kwargs, V=12):
    if kind == "seq2seq":
        return Seq2Seq(V, V, embed_dim=16, hidden_size=32, dropout=0.0, **kwargs)
    return TransformerTranslator(V, V, d_model=32, nhead=4, dim_feedforward=64, dropout=0.0)


@pytest.mark.parametrize("kind,kwargs", TRANSLATORS)
def test_translators_learn_to_reverse(kind, kwargs):
    bx.manual_seed(0)
    rng = np.random.default_rng(0)
    model = _translator(kind, kwargs)
    _, s, s_len, t = _reversal_batch(rng, 32)
    losses = _train(model, lambda: model.loss(s, s_len, t, label_smoothing=0.0), steps=80, lr=5e-3)
    assert losses[-1] < 0.3 * losses[0]


@pytest.mark.parametrize("kind,kwargs", TRANSLATORS)
def test_beam_one_is_greedy_and_batched_greedy_is_per_sentence_greedy(kind, kwargs):
    bx.manual_seed(1)
    rng = np.random.default_rng(1)
    model = _translator(kind, kwargs)
    model.eval()
    src, s, s_len, _ = _reversal_batch(rng, 6)
    batched = greedy_decode_batch(model, s.numpy(), s_len, 2, 3, max_len=8)
    for sentence, (tokens, attn) in zip(src, batched):
        greedy, g_attn = greedy_decode(model, np.array(sentence), 2, 3, max_len=8)
        beam, _ = beam_search(model, np.array(sentence), 2, 3, beam_size=1, max_len=8)
        assert greedy == beam == tokens
        if g_attn is not None:  # the attention of a padded batch equals the unpadded sentence's
            assert g_attn.shape[1] == len(sentence)
            np.testing.assert_allclose(attn, g_attn, rtol=1e-4, atol=1e-5)
        wide, _ = beam_search(model, np.array(sentence), 2, 3, beam_size=4, max_len=8)
        assert all(t not in (0, 2) for t in wide)  # never <pad> or <s>


def test_beam_search_finds_a_hypothesis_at_least_as_likely_as_greedy():
    bx.manual_seed(3)
    model = Seq2Seq(8, 8, embed_dim=8, hidden_size=8, dropout=0.0)
    model.eval()

    def score(src, tokens):  # the sum of log-probabilities of tokens + </s>
        tgt = bx.tensor([[2] + tokens + [3]])
        with bx.no_grad():
            logp = F.log_softmax(model(bx.tensor([src]), [len(src)], tgt), -1).numpy()[0]
        return sum(logp[i, t] for i, t in enumerate(tokens + [3]))
    for k in range(10):
        src = [4 + k % 4, 5, 6]
        g, _ = greedy_decode(model, np.array(src), 2, 3, max_len=6)
        b, _ = beam_search(model, np.array(src), 2, 3, beam_size=8, max_len=6, alpha=0.0)
        assert score(src, b) >= score(src, g) - 1e-4


def test_seq2seq_rejects_unknown_options():
    with pytest.raises(ValueError, match="cell"):
        Seq2Seq(5, 5, cell="rnn")
    with pytest.raises(ValueError, match="attention"):
        Seq2Seq(5, 5, attention="luong")
    with pytest.raises(ValueError, match="share_embeddings"):
        TransformerTranslator(5, 6, share_embeddings=True)
    with pytest.raises(ValueError, match="empty"):
        Seq2Seq(5, 5).translate_ids([], 2, 3)
