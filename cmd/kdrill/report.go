package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/reports"
)

func newReportCmd() *cobra.Command {
	var in string
	var p reports.Paths
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render a results file as a self-contained HTML report (and JUnit XML)",
		Long: `Render a results file (kdrill/results/v1) as one self-contained HTML page:
the overall verdict, a table of scenarios with RTO, availability and lost
writes against their SLOs, a timeline chart and event log per scenario, and
the environment. --junit also writes JUnit XML for CI. The report is made
from the results file alone; reports are written atomically, and none is
written if the results file is missing or invalid.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case in == "":
				return &usageError{"report: --in is required: the results file to render"}
			case p.HTML == "" && p.JUnit == "":
				return &usageError{"report: --out is empty and no --junit given: nothing to write"}
			}
			for flag, path := range map[string]string{"--out": p.HTML, "--junit": p.JUnit} {
				if path == "" {
					continue
				}
				if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
					return &usageError{fmt.Sprintf("report: %s %s: folder %s does not exist", flag, path, filepath.Dir(path))}
				}
			}
			f, err := results.Read(in)
			if err != nil {
				return err // an *input.Error naming the file: exit 2
			}
			if err := reports.Write(p, f, reports.Options{Source: filepath.Base(in)}); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, path := range []string{p.HTML, p.JUnit} {
				if path != "" {
					fmt.Fprintln(out, path)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "results file to read (from 'kdrill run')")
	cmd.Flags().StringVar(&p.HTML, "out", "report.html", "HTML report to write; empty for none")
	cmd.Flags().StringVar(&p.JUnit, "junit", "", "JUnit XML to write too")
	return cmd
}
