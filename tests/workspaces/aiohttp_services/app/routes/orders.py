from aiohttp import web

from app.services.orders import OrderService

routes = web.RouteTableDef()


@routes.get("/orders/{order_id}")
async def get_order(request: web.Request) -> web.Response:
    service = OrderService.from_app(request.app)
    order = await service.get(int(request.match_info["order_id"]))
    return web.json_response(order.model_dump())
