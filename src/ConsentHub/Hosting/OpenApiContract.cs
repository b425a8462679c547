using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ConsentHub.Hosting;

/// <summary>
/// What the generated OpenAPI document cannot see from the endpoints' signatures: the <c>version</c> query parameter
/// (read by middleware), the headers handlers read themselves, the 401 of every protected operation, the form of the
/// token request (read by OpenIddict), and a server URL without the trailing slash.
/// </summary>
public static class OpenApiContract
{
    public static IServiceCollection AddOpenApiContract(this IServiceCollection services)
    {
        services.Configure<OpenApiOptions>("v1", o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                foreach (var server in document.Servers ?? []) server.Url = server.Url?.TrimEnd('/');
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var description = context.Description;
                var path = "/" + (description.RelativePath ?? "").TrimStart('/');
                var metadata = description.ActionDescriptor.EndpointMetadata;
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "version",
                    In = ParameterLocation.Query,
                    Description = $"API version (seed 004 §5.1): any of {string.Join(", ", ApiVersioning.Compatible)} with an optional patch, or 1 for the latest; absent means the latest. Others answer 400.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
                if (description.HttpMethod == "POST" && path.EndsWith("/subscription-data", StringComparison.Ordinal))
                    operation.Parameters.Add(Header(Idempotency.Header,
                        $"Makes the POST safe to retry: a retry with the same key and body gets the first answer; the same key with another body 422. 1 to {Idempotency.MaxKeyLength} visible ASCII characters.",
                        new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = Idempotency.MaxKeyLength }));
                if (description.HttpMethod == "POST" && path.EndsWith("/uploads", StringComparison.Ordinal))
                    operation.Parameters.Add(Header(Bulk.UploadApi.UploadIdHeader,
                        "The upload's id, chosen by the client (a UUID), so it can follow the job while the file streams; default: one the hub chooses.",
                        new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" }));
                if (path == "/oauth/token") operation.RequestBody = TokenRequest();

                operation.Responses ??= [];
                var anonymous = metadata.OfType<IAllowAnonymous>().Any();
                if ((!anonymous && metadata.OfType<IAuthorizeData>().Any()) || path == "/oauth/token")
                    operation.Responses.TryAdd("401", new OpenApiResponse
                    {
                        Description = path == "/oauth/token"
                            ? "The client's credentials (HTTP Basic) or the user's password are wrong (OAuth2 error invalid_client or invalid_grant)."
                            : "No valid access token: send Authorization: Bearer with a token from POST /oauth/token.",
                    });
                return Task.CompletedTask;
            });
        });
        return services;
    }

    static OpenApiParameter Header(string name, string description, OpenApiSchema schema) =>
        new() { Name = name, In = ParameterLocation.Header, Description = description, Schema = schema };

    static OpenApiRequestBody TokenRequest()
    {
        static OpenApiSchema Text(string description) => new() { Type = JsonSchemaType.String, Description = description };
        return new OpenApiRequestBody
        {
            Required = true,
            Description = "RFC 6749 §4.3 (password, seed 004 §5.5) or §4.4 (client_credentials). The client authenticates with HTTP Basic.",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/x-www-form-urlencoded"] = new()
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Required = new HashSet<string> { "grant_type" },
                        Properties = new Dictionary<string, IOpenApiSchema>
                        {
                            ["grant_type"] = new OpenApiSchema
                            {
                                Type = JsonSchemaType.String,
                                Enum = [System.Text.Json.Nodes.JsonValue.Create("password")!, System.Text.Json.Nodes.JsonValue.Create("client_credentials")!],
                            },
                            ["username"] = Text("With grant_type=password: the user's name."),
                            ["password"] = Text("With grant_type=password: the user's password."),
                            ["scope"] = Text("Space-separated scopes: read, write."),
                        },
                    },
                },
            },
        };
    }
}
