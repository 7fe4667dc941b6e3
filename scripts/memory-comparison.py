#!/usr/bin/env python3
"""Memory off/on comparison tables for RESULTS.md from finished dml experiment runs.

Usage: scripts/memory-comparison.py --off DIR [DIR ...] --on DIR [DIR ...]
Reads DIR/<loss>_<mode>_seed<k>/metrics.json of the experiment directories of
experiments/omniglot-memory-off.json (--off) and -on.json (--on), whole or split by seed, and
prints Markdown: mean ± sd over seeds of each
metric with memory off and on, and the paired gain (on − off) of Recall@1 and NMI per loss ×
mode with a two-sided paired t test (df = seeds − 1). Standard library only.
"""
import glob, json, math, os, re, sys

def t_two_sided_p(t, df):
    """Two-sided p of Student's t via the regularized incomplete beta (continued fraction)."""
    x = df / (df + t * t)
    a, b = df / 2.0, 0.5
    def betacf(a, b, x):
        qab, qap, qam = a + b, a + 1, a - 1
        c, d = 1.0, 1 - qab * x / qap
        d = 1 / (d if abs(d) > 1e-300 else 1e-300); h = d
        for m in range(1, 300):
            m2 = 2 * m
            aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; d = 1 / (d if abs(d) > 1e-300 else 1e-300)
            c = 1 + aa / c if abs(1 + aa / c) > 1e-300 else 1e-300
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; d = 1 / (d if abs(d) > 1e-300 else 1e-300)
            c = 1 + aa / c if abs(1 + aa / c) > 1e-300 else 1e-300
            h *= d * c
        return h
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    return math.exp(lbeta) * betacf(a, b, x) / a

def main(arguments):
    runs = {}
    dirs = {'off': [], 'on': []}
    current = None
    for a in arguments:
        if a in ('--off', '--on'): current = a[2:]
        elif current: dirs[current].append(a)
        else: sys.exit(__doc__)
    paths = [(memory, p) for memory, ds in dirs.items() for d in ds for p in glob.glob(os.path.join(d, '*_seed*', 'metrics.json'))]
    for memory, path in paths:
        name = os.path.basename(os.path.dirname(path))
        loss, mode, seed = re.match(r'(.+?)_(.+)_seed(\d+)$', name).groups()
        runs[(loss, mode.replace('hnpm-', 'hnpm+'), memory, int(seed))] = json.load(open(path))
    metrics = ['recall@1', 'recall@2', 'recall@4', 'recall@8', 'nmi', 'f1', 'map@r']
    losses = sorted({k[0] for k in runs}); modes = ['plain', 'hnpm', 'hnpm+ee', 'hnpm+symm']
    print('| loss | mode | memory | seeds | ' + ' | '.join(m.replace('recall@', 'Recall@').replace('nmi', 'NMI').replace('f1', 'F1').replace('map@r', 'MAP@R') for m in metrics) + ' |')
    print('| --- | --- | --- | ---: |' + ' ---: |' * len(metrics))
    for loss in losses:
        for mode in modes:
            for memory in ['off', 'on']:
                seeds = sorted(s for (l, m, mem, s) in runs if (l, m, mem) == (loss, mode, memory))
                if not seeds: continue
                cells = []
                for metric in metrics:
                    v = [100 * runs[(loss, mode, memory, s)][metric] for s in seeds]
                    mean = sum(v) / len(v)
                    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float('nan')
                    cells.append(f'{mean:.2f} ± {sd:.2f}')
                print(f'| {loss} | {mode} | {memory} | {len(seeds)} | ' + ' | '.join(cells) + ' |')
    for metric in ['recall@1', 'nmi']:
        print(f'\n#### Gain of the memory (on − off, paired by seed): {metric}\n')
        print('| loss | mode | pairs | mean gain (pp) | sd (pp) | t | df | p (two-sided) |')
        print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |')
        for loss in losses:
            for mode in modes:
                seeds = sorted(s for (l, m, mem, s) in runs if (l, m, mem) == (loss, mode, 'on') and (loss, mode, 'off', s) in runs)
                if len(seeds) < 2: continue
                d = [100 * (runs[(loss, mode, 'on', s)][metric] - runs[(loss, mode, 'off', s)][metric]) for s in seeds]
                mean = sum(d) / len(d); sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1))
                t = mean / (sd / math.sqrt(len(d))) if sd > 0 else float('inf')
                p = t_two_sided_p(t, len(d) - 1) if sd > 0 else 0.0
                ps = '< 0.001' if p < 0.001 else f'{p:.3f}'
                print(f'| {loss} | {mode} | {len(d)} | {mean:+.2f} | {sd:.2f} | {t:.2f} | {len(d) - 1} | {ps} |')

if __name__ == '__main__':
    main(sys.argv[1:])
