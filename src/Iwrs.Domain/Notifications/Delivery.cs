namespace Iwrs.Domain.Notifications;

/// <summary>What the SMS provider said about one attempt to send a message.</summary>
public abstract record DeliveryOutcome
{
    private DeliveryOutcome()
    {
    }

    /// <summary>Accepted by the provider, which gave the message this id (Twilio: the <c>SM…</c> MessageSid).</summary>
    public sealed record Sent(string ProviderMessageId) : DeliveryOutcome;

    /// <summary>Not accepted this time for a reason that may pass: rate limit, provider error, no answer.</summary>
    /// <param name="Reason">For the record's LastError; never holds credentials.</param>
    /// <param name="RetryAfter">The provider's own Retry-After, when it gave one.</param>
    public sealed record TryLater(string Reason, TimeSpan? RetryAfter = null) : DeliveryOutcome;

    /// <summary>Refused for good (bad number, unsubscribed recipient…): sending it again would be refused again.</summary>
    public sealed record Rejected(string Code, string Message) : DeliveryOutcome;
}

/// <summary>Where a message stands. Stored on the outbox record.</summary>
public enum DeliveryStatus
{
    /// <summary>Waiting for its due time (first attempt or a retry).</summary>
    Pending,

    /// <summary>Claimed by a dispatcher, which holds a lease until its due row's time.</summary>
    Sending,

    Sent,

    /// <summary>Rejected by the provider, or given up after <see cref="DeliveryPolicy.DefaultMaxAttempts"/>: never retried.</summary>
    Failed,
}

/// <summary>
/// The state a message moves to after one attempt: its status, the attempts made so far, when to try again (only when
/// Pending), the provider's error code and text (when it was refused or failed), and the provider's message id (when Sent).
/// </summary>
public sealed record DeliveryDecision(
    DeliveryStatus Status, int Attempts, DateTimeOffset? NextAttemptAt, string? ErrorCode, string? LastError, string? ProviderMessageId);

/// <summary>
/// The retry policy of the outbox: the dispatcher (a timer) is the retry loop, so a message that could not be sent waits
/// 30 s, 1 min, 2 min … doubling up to 1 h between attempts, with jitter so that messages that failed together
/// (a provider outage) do not all come back together. After <c>maxAttempts</c> it is given up (about a day with the
/// defaults): a resupply notice or a visit reminder that old would mislead more than it helps.
/// </summary>
public static class DeliveryPolicy
{
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromHours(1);

    /// <summary>7 attempts reach the 1 h cap (≈ 1 h in total), then hourly: 30 attempts ≈ 24 h.</summary>
    public const int DefaultMaxAttempts = 30;

    /// <summary>
    /// The pause after the <paramref name="failedAttempts"/>-th failed attempt (1-based): at most
    /// 30 s × 2^(n−1), capped at 1 h, and at least three quarters of that. <paramref name="random"/> is a uniform
    /// number in [0, 1) from the caller's random source.
    /// </summary>
    public static TimeSpan RetryDelay(int failedAttempts, double random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        if (!(random is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(random), random, "random must be in [0, 1).");
        }

        // 2^7 × 30 s already exceeds the cap; a bounded exponent keeps the arithmetic far from overflow.
        var exponent = Math.Min(failedAttempts - 1, 7);
        var cap = TimeSpan.FromTicks(Math.Min(FirstRetryDelay.Ticks << exponent, MaxRetryDelay.Ticks));
        return cap - (cap * (0.25 * random));
    }

    /// <summary>
    /// The state after one attempt. <paramref name="attemptsBefore"/> counts earlier attempts. A provider's
    /// Retry-After is honoured (up to the 1 h cap) when it asks for more than our own backoff.
    /// </summary>
    public static DeliveryDecision Decide(int attemptsBefore, DeliveryOutcome outcome, DateTimeOffset now, double random, int maxAttempts = DefaultMaxAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attemptsBefore);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        ArgumentNullException.ThrowIfNull(outcome);
        var attempts = attemptsBefore + 1;
        switch (outcome)
        {
            case DeliveryOutcome.Sent sent:
                return new DeliveryDecision(DeliveryStatus.Sent, attempts, null, null, null, sent.ProviderMessageId);

            case DeliveryOutcome.Rejected rejected:
                return new DeliveryDecision(DeliveryStatus.Failed, attempts, null, rejected.Code, $"{rejected.Code}: {rejected.Message}", null);

            case DeliveryOutcome.TryLater later when attempts >= maxAttempts:
                return new DeliveryDecision(
                    DeliveryStatus.Failed, attempts, null, "gave-up", $"Gave up after {attempts} attempts; last: {later.Reason}", null);

            case DeliveryOutcome.TryLater later:
                var delay = RetryDelay(attempts, random);
                if (later.RetryAfter is { } asked && asked > delay)
                {
                    delay = asked < MaxRetryDelay ? asked : MaxRetryDelay;
                }

                return new DeliveryDecision(DeliveryStatus.Pending, attempts, now + delay, null, later.Reason, null);

            default:
                throw new ArgumentException($"Unknown outcome {outcome.GetType().Name}.", nameof(outcome));
        }
    }
}
