namespace Iwrs.Domain.Supply;

/// <summary>
/// The chi-square distribution's upper tail, for the kit list's numbering check (<c>KitImport.NumberingTellsType</c>):
/// Q(k/2, x/2), the regularized upper incomplete gamma function, by its series below a + 1 and its continued fraction
/// (modified Lentz) above, with ln Γ by Lanczos' approximation. The domain takes no package, so it is written here;
/// accurate to about 1e-10 relative, far more than a significance threshold needs.
/// </summary>
public static class ChiSquare
{
    private const int MaxIterations = 1_000;
    private const double Epsilon = 1e-15;
    private const double Tiny = 1e-300;

    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>P(X ≥ <paramref name="statistic"/>) for X chi-square with <paramref name="freedom"/> degrees of freedom.</summary>
    public static double UpperTail(double statistic, int freedom)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(freedom);
        if (double.IsNaN(statistic))
        {
            throw new ArgumentOutOfRangeException(nameof(statistic), "The statistic is not a number.");
        }

        if (statistic <= 0)
        {
            return 1;
        }

        var a = freedom / 2.0;
        var x = statistic / 2;
        return x < a + 1 ? Math.Clamp(1 - LowerSeries(a, x), 0, 1) : UpperFraction(a, x);
    }

    /// <summary>ln Γ(<paramref name="z"/>) for z &gt; 0 (Lanczos, g = 7).</summary>
    public static double LogGamma(double z)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(z);
        if (z < 0.5)
        {
            // Reflection: Γ(z) Γ(1 − z) = π / sin(πz).
            return Math.Log(Math.PI / Math.Sin(Math.PI * z)) - LogGamma(1 - z);
        }

        z -= 1;
        var sum = Lanczos[0];
        for (var i = 1; i < Lanczos.Length; i++)
        {
            sum += Lanczos[i] / (z + i);
        }

        var t = z + 7.5;
        return (0.5 * Math.Log(2 * Math.PI)) + ((z + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }

    /// <summary>P(a, x), the regularized lower incomplete gamma function, by its series (for x &lt; a + 1).</summary>
    private static double LowerSeries(double a, double x)
    {
        var term = 1 / a;
        var sum = term;
        for (var n = 1; n < MaxIterations; n++)
        {
            term *= x / (a + n);
            sum += term;
            if (Math.Abs(term) < Math.Abs(sum) * Epsilon)
            {
                break;
            }
        }

        return sum * Math.Exp((a * Math.Log(x)) - x - LogGamma(a));
    }

    /// <summary>Q(a, x) by its continued fraction (for x ≥ a + 1), modified Lentz.</summary>
    private static double UpperFraction(double a, double x)
    {
        var b = x + 1 - a;
        var c = 1 / Tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i < MaxIterations; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = (an * d) + b;
            d = Math.Abs(d) < Tiny ? Tiny : d;
            c = b + (an / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Epsilon)
            {
                break;
            }
        }

        return Math.Exp((a * Math.Log(x)) - x - LogGamma(a)) * h;
    }
}
