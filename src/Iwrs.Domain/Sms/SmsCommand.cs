using System.Globalization;

namespace Iwrs.Domain.Sms;

/// <summary>
/// One inbound text message, understood. Parsing is all syntax: whether the study, subject, site or visit exists, and
/// whether the sender may act there, is decided afterwards by the same rules the HTTP API applies.
/// </summary>
public abstract record SmsCommand
{
    private SmsCommand()
    {
    }

    /// <summary><c>HELP</c> (or <c>INFO</c>): the commands, with examples for the sender's own study.</summary>
    public sealed record Help : SmsCommand;

    /// <summary><c>RAND &lt;study&gt; &lt;subject&gt; &lt;site&gt; &lt;factor=value…&gt; &lt;PIN&gt;</c>: asks for a confirmation code first.</summary>
    public sealed record Randomize(string Study, string Subject, string Site, IReadOnlyDictionary<string, string> Factors, string Pin) : SmsCommand;

    /// <summary><c>DISP &lt;study&gt; &lt;subject&gt; &lt;visit&gt; &lt;PIN&gt;</c>.</summary>
    public sealed record Dispense(string Study, string Subject, string Visit, string Pin) : SmsCommand;

    /// <summary><c>RECV &lt;study&gt; &lt;shipment&gt; &lt;PIN&gt;</c>: every kit of the shipment received as ok.</summary>
    public sealed record Receive(string Study, string Shipment, string Pin) : SmsCommand;

    /// <summary><c>STATUS &lt;study&gt; &lt;subject&gt; &lt;PIN&gt;</c>.</summary>
    public sealed record Status(string Study, string Subject, string Pin) : SmsCommand;

    /// <summary>The confirmation code of a pending randomization (alone, or after <c>CONFIRM</c>), upper case.</summary>
    public sealed record Confirm(string Code) : SmsCommand;

    /// <summary>Any attempt at unblinding: never offered by SMS.</summary>
    public sealed record Unblind : SmsCommand;

    /// <summary>One of Twilio's opt-out keywords, alone (Twilio itself answers it and blocks the number).</summary>
    public sealed record OptOut(string Keyword) : SmsCommand;

    /// <summary>One of Twilio's opt-in keywords, alone (Twilio itself answers it and unblocks the number).</summary>
    public sealed record OptIn(string Keyword) : SmsCommand;

    /// <summary>Not understood; <paramref name="Expected"/> says what was expected, in a coordinator's words.</summary>
    public sealed record Invalid(string Expected) : SmsCommand;
}

/// <summary>The SMS command language: case-insensitive keywords, words separated by any amount of white space.</summary>
public static class SmsCommands
{
    /// <summary>Longer texts are refused unread: no command comes near it (a RAND with ten factors is under 200).</summary>
    public const int MaxLength = 480;

    public const string RandomizeUsage = "RAND <study> <subject> <site> <factor=value...> <PIN>";
    public const string DispenseUsage = "DISP <study> <subject> <visit> <PIN>";
    public const string ReceiveUsage = "RECV <study> <shipment> <PIN>";
    public const string StatusUsage = "STATUS <study> <subject> <PIN>";

    /// <summary>
    /// Twilio's default opt-out keywords (https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out). Twilio acts
    /// on them only when they are the whole message.
    /// </summary>
    public static readonly IReadOnlySet<string> OptOutKeywords = new HashSet<string>(StringComparer.Ordinal) { "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE" };

    /// <summary>Twilio's default opt-in keywords.</summary>
    public static readonly IReadOnlySet<string> OptInKeywords = new HashSet<string>(StringComparer.Ordinal) { "START", "YES", "UNSTOP" };

    /// <summary>Twilio's help keywords, which Advanced Opt-Out answers itself when they are the whole message.</summary>
    public static readonly IReadOnlySet<string> TwilioHelpKeywords = new HashSet<string>(StringComparer.Ordinal) { "HELP", "INFO" };

    /// <summary><c>COMMANDS</c> lists the commands whoever answers HELP.</summary>
    private static readonly HashSet<string> HelpKeywords = new(StringComparer.Ordinal) { "HELP", "INFO", "COMMANDS", "?" };

    private static readonly HashSet<string> UnblindKeywords = new(StringComparer.Ordinal) { "UNBLIND", "UNBLINDING", "BREAK", "CODEBREAK" };

    private static readonly HashSet<string> CommandWords = new(StringComparer.Ordinal) { "CONFIRM", "RAND", "RANDOMIZE", "ENROL", "ENROLL", "DISP", "DISPENSE", "RECV", "RECEIVE", "STATUS" };

    /// <summary>
    /// Whether <paramref name="word"/> (any case) means something on its own: a command, an opt-out, opt-in or help
    /// keyword. Such a word is never drawn as a confirmation code, nor read as one: a code <c>CANCEL</c> would opt the
    /// phone out at Twilio, and a bare <c>STATUS</c> is the STATUS command typed without its arguments.
    /// </summary>
    public static bool IsKeyword(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var upper = word.ToUpperInvariant();
        return CommandWords.Contains(upper) || OptOutKeywords.Contains(upper) || OptInKeywords.Contains(upper) || HelpKeywords.Contains(upper) || UnblindKeywords.Contains(upper);
    }

    public static SmsCommand Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new SmsCommand.Invalid("a command. Send HELP for the list.");
        }

        if (text.Length > MaxLength)
        {
            return new SmsCommand.Invalid($"a command of at most {MaxLength} characters. Send HELP for the list.");
        }

        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var keyword = words[0].ToUpperInvariant();
        if (words.Length == 1 && OptOutKeywords.Contains(keyword))
        {
            return new SmsCommand.OptOut(keyword);
        }

        if (words.Length == 1 && OptInKeywords.Contains(keyword))
        {
            return new SmsCommand.OptIn(keyword);
        }

        if (HelpKeywords.Contains(keyword))
        {
            return new SmsCommand.Help();
        }

        if (UnblindKeywords.Contains(keyword))
        {
            return new SmsCommand.Unblind();
        }

        if (words.Length == 1 && ConfirmationCodes.IsCode(words[0]))
        {
            return new SmsCommand.Confirm(words[0].ToUpperInvariant());
        }

        return keyword switch
        {
            "CONFIRM" => words.Length == 2 && ConfirmationCodes.IsCode(words[1])
                ? new SmsCommand.Confirm(words[1].ToUpperInvariant())
                : new SmsCommand.Invalid($"the {ConfirmationCodes.Length}-character code the RAND reply gave, e.g. K7M4PX."),
            "RAND" or "RANDOMIZE" or "ENROL" or "ENROLL" => ParseRandomize(words),
            "DISP" or "DISPENSE" => Fixed(words, DispenseUsage, ["study", "subject", "visit"], w => new SmsCommand.Dispense(w[0], w[1], w[2], w[3])),
            "RECV" or "RECEIVE" => Fixed(words, ReceiveUsage, ["study", "shipment"], w => new SmsCommand.Receive(w[0], w[1], w[2])),
            "STATUS" => Fixed(words, StatusUsage, ["study", "subject"], w => new SmsCommand.Status(w[0], w[1], w[2])),
            _ => new SmsCommand.Invalid("RAND, DISP, RECV, STATUS or HELP first."),
        };
    }

    /// <summary>Whether <paramref name="text"/> is one of Twilio's help keywords alone (what Advanced Opt-Out answers).</summary>
    public static bool IsTwilioHelpKeyword(string? text) => text is not null && TwilioHelpKeywords.Contains(text.Trim().ToUpperInvariant());

    /// <summary>A PIN as typed: digits only (its policy is checked when it is set, not here).</summary>
    public static bool LooksLikePin(string word) => word.Length is >= SmsPins.MinLength and <= SmsPins.MaxLength && word.All(char.IsAsciiDigit);

    private static SmsCommand ParseRandomize(string[] words)
    {
        if (words.Length < 5)
        {
            return new SmsCommand.Invalid(RandomizeUsage + ".");
        }

        if ((Problem(words[1], "study") ?? Problem(words[2], "subject") ?? Problem(words[3], "site") ?? PinProblem(words[^1])) is { } problem)
        {
            return new SmsCommand.Invalid($"{RandomizeUsage}; {problem}");
        }

        var factors = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var word in words[4..^1])
        {
            var eq = word.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == word.Length - 1 || !Identifiers.IsValid(word[..eq]) || !Identifiers.IsValid(word[(eq + 1)..]))
            {
                return new SmsCommand.Invalid($"{RandomizeUsage}; factors are written factor=value, e.g. ecog=0 (got '{Cut(word)}').");
            }

            if (!factors.TryAdd(word[..eq], word[(eq + 1)..]))
            {
                return new SmsCommand.Invalid($"{RandomizeUsage}; the factor '{Cut(word[..eq])}' is given twice.");
            }
        }

        return new SmsCommand.Randomize(words[1], words[2], words[3], factors, words[^1]);
    }

    private static SmsCommand Fixed(string[] words, string usage, string[] names, Func<string[], SmsCommand> build)
    {
        if (words.Length != names.Length + 2)
        {
            return new SmsCommand.Invalid(usage + ".");
        }

        for (var i = 0; i < names.Length; i++)
        {
            if (Problem(words[i + 1], names[i]) is { } problem)
            {
                return new SmsCommand.Invalid($"{usage}; {problem}");
            }
        }

        return PinProblem(words[^1]) is { } pin ? new SmsCommand.Invalid($"{usage}; {pin}") : build(words[1..]);
    }

    private static string? Problem(string word, string what) =>
        Identifiers.IsValid(word) ? null : $"'{Cut(word)}' is not a {what} id.";

    private static string? PinProblem(string word) =>
        LooksLikePin(word) ? null : $"your PIN ({SmsPins.MinLength} to {SmsPins.MaxLength} digits) comes last.";

    /// <summary>A word echoed back is cut short: a reply must stay within two SMS segments.</summary>
    private static string Cut(string word) => word.Length > 20 ? word[..20] + "..." : word;

    /// <summary>
    /// The study's own spelling of what a sender typed in any case: a site, a visit, factor codes and levels. Null
    /// when there is none; the API's own checks then refuse the original.
    /// </summary>
    public static string? Match(IEnumerable<string> known, string typed) =>
        known.FirstOrDefault(k => string.Equals(k, typed, StringComparison.OrdinalIgnoreCase));

    /// <summary>The factor values in the study's spelling (codes and levels); unknown ones pass as typed, for the API's checks to refuse.</summary>
    public static IReadOnlyDictionary<string, string> MatchFactors(Studies.StudyConfiguration study, IReadOnlyDictionary<string, string> typed)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(typed);
        var factors = study.Randomization?.StratificationFactors ?? [];
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (code, value) in typed)
        {
            var factor = factors.FirstOrDefault(f => string.Equals(f.Code, code, StringComparison.OrdinalIgnoreCase));
            result[factor?.Code ?? code] = factor is null ? value : Match(factor.Levels, value) ?? value;
        }

        return result;
    }

    /// <summary>Factors as an SMS shows them: <c>ecog=0 liver-mets=yes</c>, in the study's order.</summary>
    public static string FormatFactors(IReadOnlyDictionary<string, string> factors) =>
        string.Join(" ", factors.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Key}={f.Value}")));
}
