using System.Globalization;

namespace Iwrs.Storage.Tables;

/// <summary>
/// Resilience settings for every request a <see cref="TableServiceClient"/> makes. The defaults suit an interactive
/// request path: a transient failure is retried up to 4 times (≈0.2 s, 0.4 s, 0.8 s, 1.6 s with jitter, each capped at
/// 5 s) and the whole call, retries included, gives up after 30 s. Validated when the client is built, listing every
/// problem at once.
/// </summary>
public sealed class TableClientOptions
{
    /// <summary>Retries after the first attempt; 0 disables retrying. Default 4.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First backoff delay, doubled per retry with jitter. Default 200 ms.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap on any single backoff delay, including one a Retry-After header asks for. Default 5 s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time allowed for one attempt (send and read the answer). Default 10 s; the service's own limit per
    /// operation is 5 s for queries and 30 s otherwise, so a hung connection is abandoned well before that.</summary>
    public TimeSpan PerTryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for the whole call, retries and delays included. Default 30 s.</summary>
    public TimeSpan OverallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public void Validate()
    {
        // Polly's timeout strategy refuses timeouts of 10 ms or less and over a day; say so here, with our names.
        var minTimeout = TimeSpan.FromMilliseconds(10);
        var maxTimeout = TimeSpan.FromDays(1);
        var errors = new List<string>();
        if (MaxRetries is < 0 or > 100)
        {
            errors.Add(Describe($"MaxRetries must be between 0 and 100 (was {MaxRetries})."));
        }

        if (BaseDelay < TimeSpan.Zero || BaseDelay > maxTimeout)
        {
            errors.Add(Describe($"BaseDelay must be between 0 and 1 day (was {BaseDelay})."));
        }

        if (MaxDelay <= TimeSpan.Zero || MaxDelay > maxTimeout)
        {
            errors.Add(Describe($"MaxDelay must be positive and at most 1 day (was {MaxDelay})."));
        }
        else if (BaseDelay > MaxDelay)
        {
            errors.Add(Describe($"BaseDelay ({BaseDelay}) must not exceed MaxDelay ({MaxDelay})."));
        }

        if (PerTryTimeout <= minTimeout || PerTryTimeout > maxTimeout)
        {
            errors.Add(Describe($"PerTryTimeout must be more than 10 ms and at most 1 day (was {PerTryTimeout})."));
        }

        if (OverallTimeout <= minTimeout || OverallTimeout > maxTimeout)
        {
            errors.Add(Describe($"OverallTimeout must be more than 10 ms and at most 1 day (was {OverallTimeout})."));
        }
        else if (OverallTimeout < PerTryTimeout)
        {
            errors.Add(Describe($"OverallTimeout ({OverallTimeout}) must not be shorter than PerTryTimeout ({PerTryTimeout})."));
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid TableClientOptions: " + string.Join(" ", errors));
        }
    }

    internal TableClientOptions Clone() => (TableClientOptions)MemberwiseClone();

    private static string Describe(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
