"""LSTM training throughput in PyTorch: the same model, data shape and loop as
`pmflow bench-lstm` (2-layer LSTM, final hidden state -> linear -> logit, BCE with logits, Adam,
shuffled batches gathered from a rows tensor), one warm-up epoch and one timed epoch.

Usage: python lstm_torch.py BATCH WINDOW FEATURES HIDDEN LAYERS WINDOWS THREADS -> JSON line
"""
import json
import sys
import time

import torch
from torch import nn

batch, window, features, hidden, layers, windows, threads = map(int, sys.argv[1:8])
torch.set_num_threads(threads)
torch.manual_seed(1)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):  # x: [batch, seq, features]
        _, (h_n, _) = self.lstm(x)  # h_n: [layers, batch, hidden]
        return self.head(h_n[-1]).squeeze(-1)  # [batch]


rows = torch.rand(windows * window, features) * 2 - 1  # [rows, features]
ends = torch.arange(windows) * window + window - 1
labels = (torch.rand(windows) < 0.05).float()
model = Classifier()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.BCEWithLogitsLoss()
offsets = torch.arange(window) - (window - 1)


def epoch():
    model.train()
    order = torch.randperm(windows)
    for start in range(0, windows, batch):
        picks = order[start : start + batch]
        index = (ends[picks].unsqueeze(1) + offsets).reshape(-1)  # [batch*window]
        x = rows.index_select(0, index).view(len(picks), window, features)  # [batch, window, features]
        loss = loss_fn(model(x), labels[picks])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


epoch()  # warm-up
wall, cpu = time.perf_counter(), time.process_time()
epoch()
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"sequences": windows, "seconds": wall, "cpu_seconds": cpu, "threads": threads,
                  "sequences_per_sec": windows / wall, "sequences_per_cpu_sec": windows / cpu,
                  "torch": torch.__version__}))
