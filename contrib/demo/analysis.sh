#!/bin/sh
# The demo's "analysis": mean SOFA score per arm, from the read-only inputs.
set -e
awk -F, 'NR == FNR { if (FNR > 1) arm[$1] = $3; next }
	FNR > 1 { sum[arm[$1]] += $4; n[arm[$1]]++ }
	END { for (a in sum) printf "%s,%d,%.2f\n", a, n[a], sum[a] / n[a] }' \
	input/enrolment.csv input/outcomes.csv | sort >output/sofa-by-arm.tmp
{ echo "arm,subjects,mean_sofa"; cat output/sofa-by-arm.tmp; } >output/sofa-by-arm.csv
rm output/sofa-by-arm.tmp
