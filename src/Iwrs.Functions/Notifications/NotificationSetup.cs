using Iwrs.Functions.Notifications;
using Microsoft.Extensions.Options;

// In the app's root namespace, beside AddIwrsStorage, so the composition root calls it without another using.
namespace Iwrs.Functions;

/// <summary>Registration of the SMS adapter and the outbox dispatcher.</summary>
public static class NotificationSetup
{
    public static IServiceCollection AddIwrsNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TwilioOptions>().Bind(configuration.GetSection(TwilioOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TwilioOptions>, TwilioOptionsValidator>();
        services.AddOptions<NotificationOptions>().Bind(configuration.GetSection(NotificationOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NotificationOptions>, NotificationOptionsValidator>();

        services.AddTwilioHttpClient();

        services.AddSingleton<ISmsSender>(sp =>
        {
            var twilio = sp.GetRequiredService<IOptions<TwilioOptions>>().Value;
            if (twilio.IsConfigured)
            {
                return new TwilioSmsSender(
                    sp.GetRequiredService<IHttpClientFactory>(), twilio, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<TwilioSmsSender>>(),
                    sp.GetRequiredService<IOptions<Features.Sms.SmsOptions>>().Value.StatusCallbackUrl);
            }

            // TwilioOptionsValidator stops the app outside Development before this can run; this is the second lock.
            var environment = sp.GetRequiredService<IHostEnvironment>();
            if (!environment.IsDevelopment())
            {
                throw new InvalidOperationException("Twilio is not configured, and SMS may be left unsent only in Development.");
            }

            sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(NotificationSetup))
                .LogWarning("Twilio is not configured: SMS are not sent, each is logged by id and recipient role only (Development only)");
            return new LoggingSmsSender(sp.GetRequiredService<ILogger<LoggingSmsSender>>());
        });

        services.AddSingleton<NotificationDispatch>();
        services.AddSingleton<NoticeRecipients>();
        return services;
    }

    /// <summary>
    /// The HttpClient under the Twilio SDK (<see cref="TwilioSmsSender.HttpClientName"/>): sent to Twilio:BaseUrl when
    /// that is not Twilio's own, and every header it logs redacted (the Authorization header carries the auth token).
    /// Its log lines hold the method and URL only (account SID and path; the SMS goes in the form body, never logged).
    /// Needs <c>IOptions&lt;TwilioOptions&gt;</c>.
    /// </summary>
    public static IServiceCollection AddTwilioHttpClient(this IServiceCollection services)
    {
        services.AddHttpClient(TwilioSmsSender.HttpClientName, c =>
            {
                // Timeouts are Polly's, per try; the answer is a small JSON document.
                c.Timeout = Timeout.InfiniteTimeSpan;
                c.MaxResponseContentBufferSize = 1024 * 1024;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .AddHttpMessageHandler(sp => new TwilioBaseUrlHandler(new Uri(sp.GetRequiredService<IOptions<TwilioOptions>>().Value.BaseUrl)))
            .RedactLoggedHeaders(_ => true);
        return services;
    }
}
