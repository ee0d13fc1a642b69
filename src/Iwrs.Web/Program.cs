using Iwrs.Web;
using Iwrs.Web.Api;
using Iwrs.Web.Auth;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components.WebAssembly.Hosting;

var builder = WebAssemblyHostBuilder.CreateDefault(args);
builder.RootComponents.Add<App>("#app");
builder.RootComponents.Add<HeadOutlet>("head::after");

var settings = WebSettings.From(builder.Configuration, builder.HostEnvironment.BaseAddress);
builder.Services.AddSingleton(settings);
builder.Services.AddScoped(_ => new HttpClient { BaseAddress = settings.ApiBase });
if (settings.UsesEntra)
{
    builder.Services.AddOidcAuthentication(options =>
    {
        options.ProviderOptions.Authority = settings.Authority;
        options.ProviderOptions.ClientId = settings.ClientId;
        options.ProviderOptions.ResponseType = "code";
        if (settings.ApiScope is not null)
        {
            options.ProviderOptions.DefaultScopes.Add(settings.ApiScope);
        }
    });
    builder.Services.AddScoped<IAccessTokenSource, EntraSignIn>();
}
else
{
    builder.Services.AddScoped<DevelopmentSignIn>();
    builder.Services.AddScoped<IAccessTokenSource>(sp => sp.GetRequiredService<DevelopmentSignIn>());
}

builder.Services.AddScoped<IwrsApi>();
builder.Services.AddScoped<Session>();
builder.Services.AddScoped<Iwrs.Web.Shared.PageState>();

await builder.Build().RunAsync();
