using Iwrs.Domain;
using Iwrs.Functions.Hosting;
using Microsoft.AspNetCore.WebUtilities;
using Twilio.Security;
using Twilio.TwiML;

namespace Iwrs.Functions.Features.Sms;

/// <summary>
/// Twilio's side of the SMS door: a webhook's form read with a size limit, its <c>X-Twilio-Signature</c> checked with
/// the SDK's <see cref="RequestValidator"/> over the configured public URL and every posted parameter, and replies
/// written as TwiML with the SDK's <see cref="MessagingResponse"/>.
/// </summary>
public static class SmsWebhook
{
    public const string SignatureHeader = "X-Twilio-Signature";

    /// <summary>The posted form: every parameter once (Twilio never repeats one), or why it cannot be read.</summary>
    public static async Task<Result<IReadOnlyDictionary<string, string>>> ReadFormAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        var read = await RequestBody.ReadLimitedAsync(request, limit, "application/x-www-form-urlencoded", "Send the webhook as application/x-www-form-urlencoded, as Twilio does.", ct);
        if (!read.IsSuccess)
        {
            return read.Error!;
        }

        using var buffer = read.Value;
        string text;
        try
        {
            text = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return DomainError.Validation([new FieldError("body", "is not UTF-8.")], "The webhook body cannot be read.");
        }

        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, values) in QueryHelpers.ParseQuery(text))
        {
            if (values.Count != 1)
            {
                return DomainError.Validation([new FieldError(key.Length > 32 ? key[..32] : key, "is posted more than once.")], "The webhook body cannot be read.");
            }

            form[key] = values[0] ?? string.Empty;
        }

        return form;
    }

    /// <summary>Whether the request carries Twilio's signature over <paramref name="url"/> and <paramref name="form"/>, made with <paramref name="authToken"/>.</summary>
    public static bool IsSigned(HttpRequest request, string? url, string? authToken, IReadOnlyDictionary<string, string> form)
    {
        ArgumentNullException.ThrowIfNull(request);
        var signature = request.Headers[SignatureHeader].ToString();
        if (string.IsNullOrEmpty(signature) || string.IsNullOrEmpty(url) || string.IsNullOrEmpty(authToken))
        {
            return false;
        }

        return new RequestValidator(authToken).Validate(url, form.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal), signature);
    }

    /// <summary>A TwiML reply with one message, or none (an empty <c>&lt;Response/&gt;</c>) when <paramref name="text"/> is null.</summary>
    public static IResult TwiML(string? text)
    {
        var response = new MessagingResponse();
        if (text is not null)
        {
            response.Message(text);
        }

        return TypedResults.Text(response.ToString(), "text/xml", System.Text.Encoding.UTF8);
    }

}
