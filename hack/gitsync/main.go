package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var s syncer
	var period time.Duration
	var jitter float64
	var oneTime bool
	flag.StringVar(&s.repo, "repo", "", "the repository to fetch (a URL or a path)")
	flag.StringVar(&s.ref, "ref", "main", "the branch (or tag) to follow")
	flag.StringVar(&s.root, "root", "", "the folder that holds the clone, the worktrees and the link")
	flag.StringVar(&s.link, "link", "current", "the symlink's name under --root, pointing at the current worktree")
	flag.IntVar(&s.depth, "depth", 1, "fetch this many commits (0: the whole history)")
	flag.DurationVar(&period, "period", 10*time.Second, "how often to fetch")
	flag.Float64Var(&jitter, "jitter", 0.1, "add up to this fraction of --period to each wait, at random, so that hosts do not fetch in step")
	flag.BoolVar(&oneTime, "one-time", false, "sync once and exit")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	s.log = log
	if s.repo == "" || s.root == "" || period <= 0 || jitter < 0 {
		fmt.Fprintln(os.Stderr, "gitsync: --repo and --root are required; --period must be above 0, --jitter 0 or more")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if oneTime {
		if err := s.sync(ctx); err != nil {
			log.Error("sync failed", "err", err)
			os.Exit(1)
		}
		return
	}
	for {
		if err := s.sync(ctx); err != nil && ctx.Err() == nil {
			log.Error("sync failed; the link keeps the last good commit", "err", err)
		}
		wait := period + time.Duration(rand.Float64()*jitter*float64(period))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
