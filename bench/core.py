"""Per-op overhead of the autograd core against DeZero 0.0.13 and PyTorch (CPU, float64).

Run: `python -m bench core [--ops N] [--repeats R]`. Two graphs of N ops each on a small array, built
(forward) and differentiated (backward) from scratch every repetition:

- chain: y = x, then N ops in a row, cycling sin, tanh, y * x, y + x (one consumer per value);
- wide:  N / 2 branches sin(x), summed one after another (x has N / 2 consumers: accumulation).

Prints the best of R repetitions as CPU microseconds per op (forward, backward, both;
bench.common.cpu_seconds) and the ratio of each library's total to this core's, and writes the same
numbers to bench/results/core.json. A library that is not installed is skipped with a line saying
why. Timings are machine-dependent; nothing here is asserted.
"""

import argparse
import gc
import pathlib

import numpy as np

from bench.common import cpu_seconds, write_results

DEFAULT_OPS = 1000  # ops per graph: long enough that per-graph setup is negligible
DEFAULT_REPEATS = 7  # best of: the minimum filters out scheduler and allocator noise
ARRAY_SIZE = 16  # "small array": per-op overhead dominates the arithmetic


class Backend:
    """What a workload needs from a library: a leaf, the ops (`sin`, `tanh`, `*`, `+`), backward with a
    ones seed, and the leaf's gradient as an ndarray."""

    name = ''
    version = ''

    def leaf(self, x):
        raise NotImplementedError

    def backward(self, y):
        raise NotImplementedError

    def grad(self, x):
        return x.grad.data


class TrigradBackend(Backend):
    name = 'trigrad'

    def __init__(self):
        import trigrad.autograd as autograd
        self.ag = autograd
        self.version = 'this checkout'
        self.sin, self.tanh = autograd.sin, autograd.tanh

    def leaf(self, x):
        return self.ag.Variable(x.copy())

    def backward(self, y):
        y.backward()


class DezeroBackend(Backend):
    name = 'dezero'

    def __init__(self):
        from trigrad.properties.backends._dezero_import import import_dezero
        dezero = import_dezero()
        import dezero.functions as F
        self.dezero = dezero
        self.version = dezero.__version__
        self.sin, self.tanh = F.sin, F.tanh

    def leaf(self, x):
        return self.dezero.Variable(x.copy())

    def backward(self, y):
        y.backward()


class TorchBackend(Backend):
    name = 'torch'

    def __init__(self):
        import torch
        torch.set_num_threads(1)  # a 16-entry array gains nothing from threads; one thread is steadier
        self.torch = torch
        self.version = torch.__version__
        self.sin, self.tanh = torch.sin, torch.tanh

    def leaf(self, x):
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)

    def backward(self, y):
        y.backward(self.torch.ones_like(y))

    def grad(self, x):
        return x.grad.detach().numpy()


BACKENDS = {'trigrad': TrigradBackend, 'dezero': DezeroBackend, 'torch': TorchBackend}


def chain(lib, x, ops):
    """N ops in a row; sin and tanh keep the values bounded."""
    y = x
    for i in range(ops):
        step = i % 4
        if step == 0:
            y = lib.sin(y)
        elif step == 1:
            y = lib.tanh(y)
        elif step == 2:
            y = y * x
        else:
            y = y + x
    return y


def wide(lib, x, ops):
    """N / 2 branches of x, summed: x feeds N / 2 consumers."""
    y = lib.sin(x)
    for _ in range(ops // 2 - 1):
        y = y + lib.sin(x)
    return y


WORKLOADS = {'chain': chain, 'wide': wide}


def time_workload(lib, workload, ops, repeats):
    """Best forward and backward seconds over `repeats` runs, and the gradient (to check agreement)."""
    x0 = np.random.default_rng(0).uniform(-1.0, 1.0, ARRAY_SIZE)
    best_forward = best_backward = float('inf')
    grad = None
    for _ in range(repeats):
        gc.collect()
        x = lib.leaf(x0)
        start = cpu_seconds()
        y = workload(lib, x, ops)
        middle = cpu_seconds()
        lib.backward(y)
        end = cpu_seconds()
        best_forward = min(best_forward, middle - start)
        best_backward = min(best_backward, end - middle)
        grad = lib.grad(x)
        del x, y
    return best_forward, best_backward, grad


def load_backends():
    backends, skipped = [], {}
    for name, cls in BACKENDS.items():
        try:
            backends.append(cls())
        except ImportError as error:
            skipped[name] = str(error)
    return backends, skipped


def run(ops, repeats):
    backends, skipped = load_backends()
    rows = []
    for workload_name, workload in WORKLOADS.items():
        reference = None
        for lib in backends:
            forward, backward, grad = time_workload(lib, workload, ops, repeats)
            if reference is None:
                reference = (forward + backward, grad)
            agrees = bool(np.allclose(grad, reference[1], rtol=1e-9, atol=1e-12))
            rows.append({
                'workload': workload_name, 'library': lib.name, 'version': lib.version,
                'forward_us_per_op': 1e6 * forward / ops, 'backward_us_per_op': 1e6 * backward / ops,
                'total_us_per_op': 1e6 * (forward + backward) / ops,
                'ratio_vs_trigrad': (forward + backward) / reference[0],
                'gradient_agrees_with_trigrad': agrees,
            })
    return rows, skipped


def print_table(rows, skipped, ops, repeats):
    print(f'forward + backward per op: {ops} ops per graph, {ARRAY_SIZE} float64 entries, best of {repeats}')
    header = (f'{"workload":<9}{"library":<10}{"forward µs":>12}{"backward µs":>13}{"total µs":>10}'
              f'{"vs trigrad":>12}')
    print(header)
    print('-' * len(header))
    for row in rows:
        check = '' if row['gradient_agrees_with_trigrad'] else '  (gradient differs!)'
        print(f'{row["workload"]:<9}{row["library"]:<10}{row["forward_us_per_op"]:>12.2f}'
              f'{row["backward_us_per_op"]:>13.2f}{row["total_us_per_op"]:>10.2f}'
              f'{row["ratio_vs_trigrad"]:>11.2f}x{check}')
    for name, reason in skipped.items():
        print(f'skipped {name}: {reason}')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bench core', description=__doc__.splitlines()[0])
    parser.add_argument('--ops', type=int, default=DEFAULT_OPS, help='ops per graph (default %(default)s)')
    parser.add_argument('--repeats', type=int, default=DEFAULT_REPEATS, help='best of (default %(default)s)')
    parser.add_argument('--json', type=pathlib.Path, default=None,
                        help='where to write the results (default bench/results/core.json)')
    args = parser.parse_args(argv)
    if args.ops < 4 or args.repeats < 1:
        parser.error('--ops must be at least 4 and --repeats at least 1')
    rows, skipped = run(args.ops, args.repeats)
    print_table(rows, skipped, args.ops, args.repeats)
    write_results('core', {
        'ops_per_graph': args.ops, 'array_size': ARRAY_SIZE, 'repeats': args.repeats, 'statistic': 'min',
        'results': rows, 'skipped': skipped,
    }, args.json)


if __name__ == '__main__':
    main()
